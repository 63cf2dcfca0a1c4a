import { ref } from 'vue'
import { ElMessage, ElMessageBox } from 'element-plus'
import { userMessage } from '@/utils/errors'

/** Asks before a step that cannot be taken back; false when the user backs out. */
export async function confirmed(message: string, title: string, options: { confirmButtonText: string; confirmButtonClass?: string }) {
  try {
    await ElMessageBox.confirm(message, title, { type: 'warning', cancelButtonText: '取消', ...options })
    return true
  } catch {
    return false
  }
}

/** A table's action on one row: `busy` names the row while it runs; a failure is a message. */
export function useRowAction() {
  const busy = ref<string | null>(null)
  async function act(id: string, work: () => Promise<void>) {
    busy.value = id
    try {
      await work()
    } catch (err) {
      ElMessage.error(userMessage(err))
    } finally {
      busy.value = null
    }
  }
  return { busy, act }
}
