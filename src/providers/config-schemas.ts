/** Config pieces several HTTP providers share, so each provider's schema reads the same. */
import { Type } from '@sinclair/typebox';

/** Per-provider overrides of UPSTREAM_FIRST_BYTE_TIMEOUT_MS and UPSTREAM_IDLE_TIMEOUT_MS, in milliseconds. */
export const Timeouts = Type.Object(
  {
    firstByteMs: Type.Optional(Type.Integer({ minimum: 1, description: 'milliseconds' })),
    idleMs: Type.Optional(Type.Integer({ minimum: 1, description: 'milliseconds' })),
  },
  { additionalProperties: false },
);
