// A small independent IPFIX (RFC 7011) reader for tests: messages, template
// sets, data sets decoded with the templates seen so far.
export interface ParsedField {
  id: number;
  length: number;
  pen?: number;
}
export interface ParsedMessage {
  version: number;
  length: number;
  exportTime: number;
  sequence: number;
  domain: number;
  templates: { id: number; fields: ParsedField[] }[];
  records: { templateId: number; values: Map<string, bigint | string> }[];
}

function key(f: ParsedField): string {
  return f.pen !== undefined ? `${f.pen}/${f.id}` : String(f.id);
}

function value(b: Buffer, off: number, f: ParsedField): bigint | string {
  // addresses by element id (IPv4: 8, 12, 225, 226; IPv6: 27, 28, 281, 282)
  if (f.pen === undefined && [8, 12, 225, 226].includes(f.id)) return [...b.subarray(off, off + 4)].join('.');
  if (f.pen === undefined && [27, 28, 281, 282].includes(f.id)) {
    const parts: string[] = [];
    for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(off + i).toString(16));
    return parts.join(':');
  }
  let v = 0n;
  for (let i = 0; i < f.length; i++) v = (v << 8n) | BigInt(b[off + i]);
  return v;
}

/** Parse a buffer holding one or more whole messages (TCP streams hold several). */
export function parseMessages(buf: Buffer, templates = new Map<number, ParsedField[]>()): ParsedMessage[] {
  const out: ParsedMessage[] = [];
  let off = 0;
  while (off + 16 <= buf.length) {
    const length = buf.readUInt16BE(off + 2);
    if (length < 16 || off + length > buf.length) throw new Error(`bad message length ${length} at ${off}`);
    const m: ParsedMessage = {
      version: buf.readUInt16BE(off), length, exportTime: buf.readUInt32BE(off + 4), sequence: buf.readUInt32BE(off + 8),
      domain: buf.readUInt32BE(off + 12), templates: [], records: [],
    };
    let p = off + 16;
    while (p < off + length) {
      const setId = buf.readUInt16BE(p);
      const setLen = buf.readUInt16BE(p + 2);
      if (setLen < 4 || p + setLen > off + length) throw new Error(`bad set length ${setLen}`);
      const end = p + setLen;
      let q = p + 4;
      if (setId === 2) {
        while (q + 4 <= end) {
          const id = buf.readUInt16BE(q);
          const n = buf.readUInt16BE(q + 2);
          q += 4;
          const fields: ParsedField[] = [];
          for (let i = 0; i < n; i++) {
            const raw = buf.readUInt16BE(q);
            const f: ParsedField = { id: raw & 0x7fff, length: buf.readUInt16BE(q + 2) };
            q += 4;
            if (raw & 0x8000) {
              f.pen = buf.readUInt32BE(q);
              q += 4;
            }
            fields.push(f);
          }
          templates.set(id, fields);
          m.templates.push({ id, fields });
        }
      } else if (setId >= 256) {
        const fields = templates.get(setId);
        if (!fields) throw new Error(`data set ${setId} before its template`);
        const recLen = fields.reduce((n, f) => n + f.length, 0);
        while (q + recLen <= end) {
          const values = new Map<string, bigint | string>();
          for (const f of fields) {
            values.set(key(f), value(buf, q, f));
            q += f.length;
          }
          m.records.push({ templateId: setId, values });
        }
      }
      p = end;
    }
    out.push(m);
    off += length;
  }
  return out;
}
