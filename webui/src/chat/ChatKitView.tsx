import { ChatKit, useChatKit } from '@openai/chatkit-react'
import { useEffect, useRef } from 'react'
import { sessionFetch } from '../api/client'
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

  return (
    <div className="chatkit-host" data-testid="chatkit-view">
      <ChatKit control={control} className="chatkit-el" />
    </div>
  )
}
