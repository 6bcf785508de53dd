/** Small inline SVG icons (no icon font, no network): the shape tells the state without colour. */
export type IconName = 'check' | 'cross' | 'cancel' | 'running' | 'pending' | 'warning' | 'info' | 'plug' | 'unplug'

const PATHS: Record<IconName, string> = {
  check: 'M4 12.5l5 5L20 6.5',
  cross: 'M6 6l12 12M18 6L6 18',
  cancel: 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18M5.6 5.6l12.8 12.8',
  running: 'M20 12a8 8 0 1 1-3-6.2M20 4v5h-5',
  pending: 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18M12 7v5l3 3',
  warning: 'M12 3L2 20h20zM12 9v5M12 17v1',
  info: 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18M12 11v6M12 7v1',
  plug: 'M9 3v5M15 3v5M6 8h12v3a6 6 0 0 1-12 0zM12 17v4',
  unplug: 'M9 3v5M15 3v5M6 8h12v3a6 6 0 0 1-12 0zM12 17v4M3 3l18 18'
}

export function Icon({ name, className }: { name: IconName; className?: string }): React.JSX.Element {
  return (
    <svg className={`icon icon--${name}${className ? ` ${className}` : ''}`} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path d={PATHS[name]} />
    </svg>
  )
}
