import { ref, type Ref } from 'vue'
import { ElMessage, type FormInstance } from 'element-plus'
import { userMessage } from '@/utils/errors'

const toast = (err: unknown) => {
  ElMessage.error(userMessage(err))
}

/** A form's submit: nothing is sent until its rules pass, `saving` is on while it is sent, and a
 *  failure is a message unless `failed` shows it in the form itself. */
export function useSubmit(formRef: Ref<FormInstance | undefined>, send: () => Promise<unknown>, failed = toast) {
  const saving = ref(false)
  async function submit() {
    if (!(await formRef.value?.validate().catch(() => false))) return
    saving.value = true
    try {
      await send()
    } catch (err) {
      failed(err)
    } finally {
      saving.value = false
    }
  }
  return { saving, submit }
}
