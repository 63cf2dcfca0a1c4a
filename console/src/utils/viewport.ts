import { onBeforeUnmount, onMounted, ref } from 'vue'

/** Breakpoints the console lays out for: 1366 desktop, 1024 tablet landscape, 768 tablet portrait. */
export const NARROW = 1100
export const COMPACT = 900

export function useViewportWidth() {
  const width = ref(typeof window === 'undefined' ? 1366 : window.innerWidth)
  const update = () => {
    width.value = window.innerWidth
  }
  onMounted(() => window.addEventListener('resize', update, { passive: true }))
  onBeforeUnmount(() => window.removeEventListener('resize', update))
  return width
}
