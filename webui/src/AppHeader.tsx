// The header: brand, Chat/Tasks tabs (narrow windows), search, key hint, shortcuts, settings.

import type { SearchResult } from './api/client'
import SearchBox from './search/SearchBox'
import { IconGear, IconLogo } from './ui/icons'

export type Tab = 'chat' | 'tasks'

interface Props {
  tab: Tab
  onTab: (tab: Tab) => void
  onSearchResult: (r: SearchResult) => void
  keyMissing: boolean
  onSettings: () => void
  onShortcuts: () => void
}

export function AppHeader({ tab, onTab, onSearchResult, keyMissing, onSettings, onShortcuts }: Props) {
  return (
    <header className="app-header">
      <div className="brand">
        <IconLogo />
        <h1>TaskChat</h1>
      </div>
      <nav className="tabs" role="tablist" aria-label="View">
        <button type="button" role="tab" aria-selected={tab === 'chat'} className={tab === 'chat' ? 'on' : ''} onClick={() => onTab('chat')} data-testid="tab-chat">
          Chat
        </button>
        <button type="button" role="tab" aria-selected={tab === 'tasks'} className={tab === 'tasks' ? 'on' : ''} onClick={() => onTab('tasks')} data-testid="tab-tasks">
          Tasks
        </button>
      </nav>
      <SearchBox onOpen={onSearchResult} />
      <div className="header-actions">
        {keyMissing && (
          <button type="button" className="key-missing" onClick={onSettings}>
            Add Gemini key
          </button>
        )}
        <button type="button" className="icon-btn help-btn" aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)" onClick={onShortcuts} data-testid="shortcuts-button">
          ?
        </button>
        <button type="button" className="icon-btn" aria-label="Settings" title="Settings" onClick={onSettings} data-testid="settings-button">
          <IconGear />
        </button>
      </div>
    </header>
  )
}
