import { useQueryClient } from '@tanstack/react-query'
import { Suspense, lazy, useCallback, useEffect, useRef, useState } from 'react'
import { onSessionExpired, type SearchResult, type TaskSource } from './api/client'
import { keys } from './api/queryClient'
import BuiltinChat from './chat/BuiltinChat'
import { type ChatMode, forcedMode, loadChatKit } from './chat/loader'
import Settings from './settings/Settings'
import Welcome from './settings/Welcome'
import { useSettings } from './settings/useSettings'
import type { ChatTarget, TaskTarget } from './search/targets'
import TaskPanel from './tasks/TaskPanel'
import UndoBar from './tasks/UndoBar'
import { type UndoEntry, addUndo, pruneUndo, undoFromEffect } from './tasks/undo'
import { AppHeader, type Tab } from './AppHeader'
import { ShortcutHelp } from './ui/ShortcutHelp'
import UpdateNotice from './updates/UpdateNotice'
import { useShortcut } from './ui/shortcuts'
import { useColorScheme } from './ui/useColorScheme'
import { useDropGuard } from './ui/useDropGuard'

// ChatKit bindings are only needed when the CDN component is available.
const ChatKitView = lazy(() => import('./chat/ChatKitView'))

export default function App() {
  const scheme = useColorScheme()
  const [chatMode, setChatMode] = useState<ChatMode | null>(null)
  const queryClient = useQueryClient()
  const [ready, setReady] = useState(false)
  const [expired, setExpired] = useState(false)
  const [settingsOpen, setSettingsOpen] = useState(false)
  const [welcomeOpen, setWelcomeOpen] = useState(false)
  const [settingsFocusKey, setSettingsFocusKey] = useState(false)
  const [tab, setTab] = useState<Tab>('chat')
  const [helpOpen, setHelpOpen] = useState(false)
  const [chatTarget, setChatTarget] = useState<ChatTarget | null>(null)
  const [taskTarget, setTaskTarget] = useState<TaskTarget | null>(null)

  useEffect(() => onSessionExpired(() => setExpired(true)), [])
  useDropGuard()

  // Decide which chat view to show.
  useEffect(() => {
    let cancelled = false
    const forced = forcedMode()
    if (forced === 'builtin') {
      setChatMode('builtin')
      return
    }
    void loadChatKit().then((ok) => {
      if (!cancelled) setChatMode(ok ? 'chatkit' : 'builtin')
    })
    return () => {
      cancelled = true
    }
  }, [])

  useEffect(() => {
    if (chatMode) document.body.dataset.chatMode = chatMode
  }, [chatMode])

  // First run: no key yet → the one-step welcome (paste, check, save).
  const settings = useSettings()
  const keySet = settings.data?.gemini_key.set ?? null
  const timeZone = settings.data?.timezone ?? null
  const firstSettings = useRef(true)
  useEffect(() => {
    if (keySet === null || !firstSettings.current) return
    firstSettings.current = false // only the first answer decides
    if (keySet) return
    setWelcomeOpen(true)
  }, [keySet])

  const [undoable, setUndoable] = useState<UndoEntry[]>([])
  const refreshTasks = useCallback(() => void queryClient.invalidateQueries({ queryKey: keys.tasks }), [queryClient])
  const onTasksChanged = useCallback((data?: Record<string, unknown>) => {
    refreshTasks()
    const entry = undoFromEffect(data, Date.now())
    if (entry) setUndoable((list) => addUndo(list, entry, Date.now()))
  }, [refreshTasks])
  const onUndone = useCallback(
    (changeId: string) => {
      setUndoable((list) => list.filter((e) => e.changeId !== changeId))
      refreshTasks()
    },
    [refreshTasks],
  )
  const onUndoTick = useCallback(() => setUndoable((list) => pruneUndo(list, Date.now())), [])
  const onFirstLoad = useCallback(() => setReady(true), [])
  const onChatKitFailed = useCallback((reason: string) => {
    console.warn('Falling back to the built-in chat view:', reason)
    setChatMode('builtin')
  }, [])
  const openSettings = useCallback(() => {
    setSettingsFocusKey(false)
    setSettingsOpen(true)
  }, [])
  const openKeySettings = useCallback(() => {
    setSettingsFocusKey(true)
    setSettingsOpen(true)
  }, [])
  const openThread = useCallback((threadId: string, itemId?: string | null) => {
    setTab('chat')
    setChatTarget({ threadId, itemId, nonce: Date.now() })
  }, [])
  const openTask = useCallback((id: string) => {
    setTab('tasks')
    setTaskTarget({ id, nonce: Date.now() })
  }, [])
  const openResult = useCallback(
    (r: SearchResult) => {
      if (r.kind === 'task') openTask(r.id)
      else if (r.thread_id) openThread(r.thread_id, r.item_id)
    },
    [openTask, openThread],
  )
  const openSource = useCallback((s: TaskSource) => openThread(s.thread_id, s.item_id), [openThread])

  // q, / and n work from anywhere (the chat view handles n itself); ? lists them all.
  const focusLater = (selector: string) => requestAnimationFrame(() => document.querySelector<HTMLInputElement>(selector)?.focus())
  useShortcut(['q'], () => {
    setTab('tasks')
    focusLater('#task-add-input')
  })
  useShortcut(['/'], () => focusLater('[data-testid=global-search-input]'))
  useShortcut(['n'], () => setTab('chat'))
  useShortcut(['?'], () => setHelpOpen(true))

  return (
    <div className="app" data-ready={ready ? 'true' : 'false'} data-testid="app-root" data-tab={tab}>
      <AppHeader
        tab={tab}
        onTab={setTab}
        onSearchResult={openResult}
        keyMissing={keySet === false}
        onSettings={keySet === false ? openKeySettings : openSettings}
        onShortcuts={() => setHelpOpen(true)}
      />

      {expired && (
        <div className="session-expired" role="alert" data-testid="session-expired">
          <strong>Session expired</strong> — reopen TaskChat from the app/launcher.
        </div>
      )}
      <UpdateNotice />

      <main className="app-main">
        <div className="pane pane-chat">
          {chatMode === null ? (
            <div className="chat-loading" data-testid="chat-loading" aria-busy="true">
              <span className="spinner" aria-hidden="true" /> Loading chat…
            </div>
          ) : chatMode === 'chatkit' ? (
            <Suspense fallback={<div className="chat-loading">Loading chat…</div>}>
              <ChatKitView colorScheme={scheme} onTasksChanged={onTasksChanged} onFailed={onChatKitFailed} />
            </Suspense>
          ) : (
            <BuiltinChat onTasksChanged={onTasksChanged} target={chatTarget} onOpenTask={openTask} onOpenSettings={openKeySettings} />
          )}
        </div>
        <div className="pane pane-tasks">
          <TaskPanel
            onFirstLoad={onFirstLoad}
            timeZone={timeZone}
            focusTask={taskTarget}
            onOpenSource={openSource}
          />
          <UndoBar entries={undoable} onDone={onUndone} onTick={onUndoTick} />
        </div>
      </main>

      <ShortcutHelp open={helpOpen} onClose={() => setHelpOpen(false)} />
      <Welcome open={welcomeOpen} onClose={() => setWelcomeOpen(false)} />
      <Settings
        open={settingsOpen}
        focusKey={settingsFocusKey}
        chatMode={chatMode}
        onClose={() => setSettingsOpen(false)}
      />
    </div>
  )
}
