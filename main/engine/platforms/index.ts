import type { ConnectionConfig } from '../config/connection'
import type { PlatformAdapter } from './adapter'
import { createFogcloudAdapter } from './fogcloud'
import { createIotdaAdapter } from './iotda'
import { createWudunAdapter } from './wudun'

/** The platform adapter a connection speaks through; its gateway children are every other listed device. */
export function createAdapter(c: ConnectionConfig): PlatformAdapter {
  const children = c.devices.map((d) => d.deviceId).filter((id) => id !== c.self)
  switch (c.platform) {
    case 'iotda':
      return createIotdaAdapter({ deviceId: c.iotda!.deviceId, secret: c.iotda!.secret, cert: c.iotda!.cert, key: c.iotda!.key, checkTimestamp: c.iotda!.checkTimestamp })
    case 'fogcloud':
      return createFogcloudAdapter({ ...c.fogcloud!, children, username: c.username, password: c.password })
    case 'wudun':
      return createWudunAdapter({ ...c.wudun!, children, username: c.username, password: c.password })
  }
}

export type { PlatformAdapter } from './adapter'
