/** Where search results and task links point: a thread (at an item) or a task. */
export interface ChatTarget {
  threadId: string
  itemId?: string | null
  nonce: number
}

export interface TaskTarget {
  id: string
  nonce: number
}
