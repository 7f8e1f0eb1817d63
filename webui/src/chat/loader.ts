// Decides between OpenAI's ChatKit web component (CDN) and the built-in view.

export const CHATKIT_SRC = 'https://cdn.platform.openai.com/deployments/chatkit/chatkit.js'
export const CHATKIT_TIMEOUT_MS = 4000

export type ChatMode = 'chatkit' | 'builtin'
export type ChatPreference = 'auto' | 'builtin'

const PREF_KEY = 'taskchat.chatView'

/** `?chat=builtin|chatkit` wins, then the saved preference. */
export function forcedMode(): ChatMode | null {
  try {
    const q = new URLSearchParams(window.location.search).get('chat')
    if (q === 'builtin' || q === 'chatkit') return q
    if (localStorage.getItem(PREF_KEY) === 'builtin') return 'builtin'
  } catch {
    /* storage unavailable */
  }
  return null
}

export function getChatPreference(): ChatPreference {
  try {
    return localStorage.getItem(PREF_KEY) === 'builtin' ? 'builtin' : 'auto'
  } catch {
    return 'auto'
  }
}

export function setChatPreference(p: ChatPreference): void {
  try {
    if (p === 'builtin') localStorage.setItem(PREF_KEY, 'builtin')
    else localStorage.removeItem(PREF_KEY)
  } catch {
    /* ignore */
  }
}

let pending: Promise<boolean> | null = null

/**
 * Loads the ChatKit script once. Resolves true when <openai-chatkit> is
 * defined, false on a load error or after `timeoutMs`.
 */
export function loadChatKit(timeoutMs = CHATKIT_TIMEOUT_MS): Promise<boolean> {
  if (typeof customElements === 'undefined') return Promise.resolve(false)
  if (customElements.get('openai-chatkit')) return Promise.resolve(true)
  if (pending) return pending
  pending = new Promise<boolean>((resolve) => {
    let settled = false
    const finish = (ok: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(ok)
    }
    const timer = setTimeout(() => finish(!!customElements.get('openai-chatkit')), timeoutMs)
    customElements.whenDefined('openai-chatkit').then(() => finish(true), () => finish(false))
    let script = document.querySelector<HTMLScriptElement>(`script[src="${CHATKIT_SRC}"]`)
    if (!script) {
      script = document.createElement('script')
      script.src = CHATKIT_SRC
      script.async = true
      document.head.appendChild(script)
    }
    script.addEventListener('error', () => finish(false), { once: true })
  })
  return pending
}
