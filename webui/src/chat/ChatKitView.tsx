import { ChatKit, useChatKit } from '@openai/chatkit-react'
import { useEffect, useRef } from 'react'
import { sessionFetch } from '../api/client'
import { usePrepareChat } from './prepare'
import { EXAMPLE_PROMPTS } from './prompts'

interface Props {
  colorScheme: 'light' | 'dark'
  onTasksChanged: (data?: Record<string, unknown>) => void
  /** ChatKit reported an error before becoming ready: use the built-in view. */
  onFailed: (reason: string) => void
}

const READY_TIMEOUT_MS = 15000

export default function ChatKitView({ colorScheme, onTasksChanged, onFailed }: Props) {
  const ready = useRef(false)
  const { control } = useChatKit({
    api: {
      url: '/api/chatkit',
      domainKey: 'taskchat-local',
      fetch: (input, init) => sessionFetch(input, { ...init, credentials: 'same-origin' }),
    },
    theme: { colorScheme, radius: 'round', density: 'normal' },
    frameTitle: 'TaskChat conversation',
    history: { enabled: true, showDelete: true, showRename: true },
    startScreen: {
      greeting: 'What should we get done?',
      prompts: EXAMPLE_PROMPTS.map((p) => ({ label: p.label, prompt: p.prompt, icon: p.icon })),
    },
    composer: { placeholder: 'Ask TaskChat to add, find or finish tasks…' },
    onEffect: ({ name, data }) => {
      if (name === 'tasks_changed') onTasksChanged(data as Record<string, unknown> | undefined)
    },
    onResponseEnd: () => onTasksChanged(),
    onReady: () => {
      ready.current = true
    },
    onError: ({ error }) => {
      console.warn('ChatKit error', error)
      if (!ready.current) onFailed(String(error?.message ?? error))
    },
  })

  useEffect(() => {
    const t = setTimeout(() => {
      if (!ready.current) onFailed('ChatKit did not become ready')
    }, READY_TIMEOUT_MS)
    return () => clearTimeout(t)
  }, [onFailed])

  // ChatKit's composer lives in its own frame, which tells the page nothing of typing: when
  // focus moves into it, the server gets the turn ready (see BuiltinChat, ./prepare.ts).
  const host = useRef<HTMLDivElement>(null)
  const prepareChat = usePrepareChat()
  useEffect(() => {
    const onBlur = () => {
      // The window loses focus to the frame; activeElement is then the frame itself.
      if (host.current?.contains(document.activeElement)) prepareChat()
    }
    window.addEventListener('blur', onBlur)
    return () => window.removeEventListener('blur', onBlur)
  }, [prepareChat])

  return (
    <div className="chatkit-host" data-testid="chatkit-view" ref={host}>
      <ChatKit control={control} className="chatkit-el" />
    </div>
  )
}
