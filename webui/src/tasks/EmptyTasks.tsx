// What the task panel says when no task is shown.

export function EmptyTasks({ filtered, onClear }: { filtered: boolean; onClear: () => void }) {
  return (
    <div className="empty-state" data-testid="task-empty">
      {filtered ? (
        <>
          <p>No tasks match these filters.</p>
          <button type="button" className="link-btn" onClick={onClear}>
            Clear filters
          </button>
        </>
      ) : (
        <p>Nothing open. Add a task above or ask in the chat.</p>
      )}
    </div>
  )
}
