// Renders a component the way the app does: inside a QueryClientProvider (a fresh client
// per test, so no cache leaks between tests).

import { QueryClientProvider } from '@tanstack/react-query'
import { render } from '@testing-library/react'
import type { ReactElement } from 'react'
import { createQueryClient } from '../api/queryClient'

export function renderWithQuery(ui: ReactElement) {
  const queryClient = createQueryClient()
  const wrap = (el: ReactElement) => <QueryClientProvider client={queryClient}>{el}</QueryClientProvider>
  const result = render(wrap(ui))
  return { ...result, queryClient, rerender: (el: ReactElement) => result.rerender(wrap(el)) }
}
