import { http } from '@/utils/http'
import { apiPath } from './paths'
import type { Directory } from './types'

export const getDirectory = () => http.get<Directory>(apiPath('directory'))
