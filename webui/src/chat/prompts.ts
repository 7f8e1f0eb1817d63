/**
 * Start-screen prompts. ChatKit sends `prompt` directly; the built-in view
 * puts `fill` (when given) into the composer so the user can finish it.
 */
export const EXAMPLE_PROMPTS = [
  { label: 'Add a task…', prompt: 'Add a task: call the dentist tomorrow', fill: 'Add a task: ', icon: 'plus' as const },
  { label: "What's due this week?", prompt: "What's due this week?", icon: 'calendar' as const },
  { label: 'Plan my day', prompt: 'Which open tasks should I do today? Suggest an order.', icon: 'lightbulb' as const },
  { label: 'Wrap up', prompt: 'Show my high-priority open tasks.', icon: 'check-circle' as const },
] as { label: string; prompt: string; fill?: string; icon: 'plus' | 'calendar' | 'lightbulb' | 'check-circle' }[]
