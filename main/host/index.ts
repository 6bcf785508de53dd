/** The host: the API the renderer calls (preload/contract.ts), one implementation for every transport. */
export { createHost, OPERATOR_METHODS, MAX_RECORDS, type Host, type HostOptions, type NoticeEvent } from './host'
export { DemoController } from './demo'
export { KeyFileSecretStore, MemorySecretStore, SafeStorageSecretStore, type SafeStorageLike, type SecretStore } from './secrets'
export { SCHEMAS, parseArgs, MAX_UPLOAD_BYTES } from './schemas'
export { nothingConfigured, RECORDS_DB_KEY } from './stores'
export { DEFAULT_PIN_POLICY, type PinPolicy } from './settings'
export { logFileSink } from './log-file'
export { rendererCsp, SECURITY_HEADERS, CONTENT_TYPES } from './csp'
