// The end of a paged list: "Showing 500 of 1,200" and a Load more button, pressed for
// you when the end scrolls into view.

import { useEffect, useRef } from 'react'

interface Props {
  shown: number
  /** The real total, when the server tells it. */
  total?: number
  hasMore: boolean
  loading: boolean
  onMore: () => void
  noun?: string
  testId?: string
}

export function LoadMore({ shown, total, hasMore, loading, onMore, noun = 'tasks', testId = 'load-more' }: Props) {
  const ref = useRef<HTMLDivElement>(null)
  const more = useRef(onMore)
  more.current = onMore
  useEffect(() => {
    const el = ref.current
    if (!el || !hasMore || loading || typeof IntersectionObserver === 'undefined') return
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) more.current()
    })
    io.observe(el)
    return () => io.disconnect()
  }, [hasMore, loading])

  if (!hasMore) return null
  return (
    <div className="load-more" ref={ref} data-testid={testId}>
      <span className="muted">
        Showing {shown.toLocaleString()}
        {total !== undefined ? ` of ${total.toLocaleString()}` : ''} {noun}
      </span>
      <button type="button" className="btn btn-small" onClick={onMore} disabled={loading} data-testid={`${testId}-button`}>
        {loading ? 'Loading…' : 'Load more'}
      </button>
    </div>
  )
}
