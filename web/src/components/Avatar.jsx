import { useState } from 'react';
import { accentFor, initials } from '../lib/identity.js';

/**
 * Avatar shows the member's image, or a generated one (initials on the
 * member's accent colour) when there is no image or it fails to load.
 */
export function Avatar({ member, size = 96, decorative = true }) {
  const [broken, setBroken] = useState(false);
  const c = accentFor(member.id);
  const style = { width: size, height: size, '--accent': c.accent, '--glow': c.glow };
  const alt = decorative ? '' : `Photo of ${member.name}`;
  if (member.image_url && !broken) {
    return (
      <img className="avatar" src={member.image_url} alt={alt} width={size} height={size}
        style={style} loading="lazy" decoding="async" onError={() => setBroken(true)} />
    );
  }
  return (
    <span className="avatar avatar-generated" style={{ ...style, fontSize: Math.round(size * 0.36) }}
      role={decorative ? undefined : 'img'} aria-label={decorative ? undefined : `Avatar of ${member.name}`}
      aria-hidden={decorative ? 'true' : undefined} data-testid="generated-avatar">
      {initials(member.name)}
    </span>
  );
}
