import { ref, type Ref } from 'vue'
import { userMessage } from '@/utils/errors'

/** A page's read: `loading` while it runs, the failure in words in `error` (shown on the page). */
export function useLoading() {
  const loading = ref(false)
  const error = ref<string | null>(null)
  /** False when the read failed. */
  async function run(read: () => Promise<void>): Promise<boolean> {
    loading.value = true
    error.value = null
    try {
      await read()
      return true
    } catch (err) {
      error.value = userMessage(err)
      return false
    } finally {
      loading.value = false
    }
  }
  return { loading, error, run }
}

/** A page's list from the API: `load` reads it again; a failed read keeps the rows shown. */
export function useList<T>(read: () => Promise<T[]>) {
  const rows = ref([]) as Ref<T[]>
  const { loading, error, run } = useLoading()
  const load = () =>
    run(async () => {
      rows.value = await read()
    })
  return { rows, loading, error, load }
}
