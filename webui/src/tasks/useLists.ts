// The person's lists (app/lists): the list filter and "#name" in quick add.
import { useQuery } from '@tanstack/react-query'
import { type TaskListInfo, api } from '../api/client'
import { keys } from '../api/queryClient'

const NONE: TaskListInfo[] = []

export function useLists(): TaskListInfo[] {
  const { data } = useQuery({
    queryKey: keys.lists,
    queryFn: async () => {
      const page = await api.listLists()
      const items = Array.isArray(page?.items) ? page.items : []
      return items.filter((l) => l && typeof l.id === 'string' && typeof l.name === 'string')
    },
  })
  return data ?? NONE
}
