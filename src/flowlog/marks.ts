// netbird's fwmark plan (client/net/fwmark.go): a 256-mark range whose low
// byte names the mark. The defaults the tracker classifies flows with.
import type { FlowMarks } from './types';

/** Base of netbird's mark range (NB_FWMARK_BASE default). */
export const NETBIRD_FWMARK_BASE = 0x1bd00;

// Offsets inside the range.
const DATA_PLANE_IN = 0x10;
const DATA_PLANE_OUT = 0x11;
const REDIRECTED = 0x20;
const MASQUERADE = 0x21;
const MASQUERADE_RETURN = 0x22;
const DATA_PLANE_LOWER = 0x10;
const DATA_PLANE_UPPER = 0xff;

/**
 * The marks of a netbird range: data plane = base|0x10 .. base|0xff;
 * ingress = DataPlaneMarkIn, PreroutingFwmarkRedirected, PreroutingFwmarkMasquerade;
 * egress = DataPlaneMarkOut, PreroutingFwmarkMasqueradeReturn.
 */
export function netbirdMarks(base = NETBIRD_FWMARK_BASE): FlowMarks {
  const b = base >>> 0;
  return {
    dataPlane: [(b | DATA_PLANE_LOWER) >>> 0, (b | DATA_PLANE_UPPER) >>> 0],
    ingress: [(b | DATA_PLANE_IN) >>> 0, (b | REDIRECTED) >>> 0, (b | MASQUERADE) >>> 0],
    egress: [(b | DATA_PLANE_OUT) >>> 0, (b | MASQUERADE_RETURN) >>> 0],
  };
}
