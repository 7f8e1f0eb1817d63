import { useEffect, useState } from 'react'

const query = '(prefers-color-scheme: dark)'

export function useColorScheme(): 'light' | 'dark' {
  const get = () => (typeof window !== 'undefined' && window.matchMedia?.(query).matches ? 'dark' : 'light')
  const [scheme, setScheme] = useState<'light' | 'dark'>(get)
  useEffect(() => {
    const mq = window.matchMedia?.(query)
    if (!mq) return
    const on = () => setScheme(mq.matches ? 'dark' : 'light')
    mq.addEventListener('change', on)
    return () => mq.removeEventListener('change', on)
  }, [])
  return scheme
}
