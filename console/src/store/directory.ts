import { defineStore } from 'pinia'
import { ref } from 'vue'
import { getDirectory } from '@/api/directory'
import type { Directory } from '@/api/types'

/** Halls, windows and departments, fetched once, for names in tables and options in selects. */
export const useDirectoryStore = defineStore('directory', () => {
  const directory = ref<Directory>({ halls: [], departments: [], windows: [] })
  const loaded = ref(false)
  let loading: Promise<void> | null = null

  function load(force = false): Promise<void> {
    if (loaded.value && !force) return Promise.resolve()
    loading ??= getDirectory()
      .then((d) => {
        directory.value = { halls: d.halls ?? [], departments: d.departments ?? [], windows: d.windows ?? [] }
        loaded.value = true
      })
      .finally(() => {
        loading = null
      })
    return loading
  }

  const nameOf = (list: { id: string; name: string }[], id: string | null | undefined) =>
    (id && list.find((x) => x.id === id)?.name) || id || '—'

  const hallName = (id: string | null | undefined) => nameOf(directory.value.halls, id)
  const windowName = (id: string | null | undefined) => nameOf(directory.value.windows, id)
  /** Unknown windows route to "supervisor:<hall>" queues (DOMAIN.md). */
  const departmentName = (id: string | null | undefined) => {
    if (id?.startsWith('supervisor:')) return `${hallName(id.slice('supervisor:'.length))}督办队列`
    return nameOf(directory.value.departments, id)
  }

  return { directory, loaded, load, hallName, windowName, departmentName }
})
