import { useTranslation } from 'react-i18next'

type Os = 'linux' | 'darwin' | 'win32'
const ORDER: Os[] = ['linux', 'darwin', 'win32']

const osOf = (platform: string | undefined): Os | undefined => (ORDER as string[]).includes(platform ?? '') ? (platform as Os) : undefined

/** Why a serial port will not open, per OS; the host's own OS is open, the others folded. */
export function PortHelp({ platform }: { platform?: string }): React.JSX.Element {
  const { t } = useTranslation()
  const own = osOf(platform)
  const order = own ? [own, ...ORDER.filter((o) => o !== own)] : ORDER
  return (
    <section className="port-help" aria-label={t('portHelp.title')}>
      <h4>{t('portHelp.title')}</h4>
      {order.map((os) => (
        <details key={os} open={os === own} className="port-help__os" data-os={os}>
          <summary>{t(`portHelp.${os}.title`)}</summary>
          {os === 'linux' && (
            <ol>
              <li>{t('portHelp.linux.group')}</li>
              <li>
                <code>sudo usermod -aG dialout $USER</code>
              </li>
              <li>{t('portHelp.linux.relogin')}</li>
              <li>{t('portHelp.linux.check')}</li>
            </ol>
          )}
          {os === 'darwin' && (
            <ol>
              <li>{t('portHelp.darwin.driver')}</li>
              <li>{t('portHelp.darwin.allow')}</li>
              <li>{t('portHelp.darwin.cu')}</li>
            </ol>
          )}
          {os === 'win32' && (
            <ol>
              <li>{t('portHelp.win32.deviceManager')}</li>
              <li>{t('portHelp.win32.driver')}</li>
              <li>{t('portHelp.win32.inUse')}</li>
            </ol>
          )}
        </details>
      ))}
    </section>
  )
}
