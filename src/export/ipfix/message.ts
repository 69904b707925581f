// IPFIX Message assembly (RFC 7011 section 3): a 16-byte Message Header,
// then Sets: Template Sets (Set ID 2) and Data Sets (Set ID = Template ID),
// each with a 4-byte Set Header. A message never grows beyond `maxLength`:
// a record that does not fit ends the message and starts the next one.
import { ConntrackError } from '../../errors';
import { IPFIX_VERSION, MESSAGE_HEADER_LENGTH, SET_HEADER_LENGTH, TEMPLATE_SET_ID } from './elements';
import { writeDataRecord, writeTemplateRecord, type DirectionRecord, type Template } from './template';

export interface MessageHeaderFields {
  /** Export Time: seconds since the epoch. */
  exportTime: number;
  /** Data records sent in this observation domain before this message (mod 2^32). */
  sequence: number;
  observationDomainId: number;
}

export class MessageWriter {
  private readonly buf: Buffer;
  private off = MESSAGE_HEADER_LENGTH;
  private setId = -1;
  private setStart = 0;
  /** Data records in the message being built. */
  records = 0;

  constructor(readonly maxLength: number, private readonly pen: number) {
    // the smallest message must hold a header, a set header and one record
    if (!Number.isInteger(maxLength) || maxLength < 128 || maxLength > 65535) {
      throw new ConntrackError('ERR_CT_INVALID_ARGUMENT', `IPFIX message size must be 128..65535 bytes, not ${String(maxLength)}`);
    }
    this.buf = Buffer.alloc(maxLength);
  }

  get empty(): boolean {
    return this.off === MESSAGE_HEADER_LENGTH;
  }

  get length(): number {
    return this.off;
  }

  /** Append a template record; false when the message has no room for it. */
  addTemplate(t: Template): boolean {
    if (!this.room(TEMPLATE_SET_ID, t.templateLength)) return false;
    this.off = writeTemplateRecord(this.buf, this.off, t, this.pen);
    return true;
  }

  /** Append a data record; false when the message has no room for it. */
  addRecord(t: Template, r: DirectionRecord): boolean {
    if (!this.room(t.id, t.recordLength)) return false;
    this.off = writeDataRecord(this.buf, this.off, t, r);
    this.records++;
    return true;
  }

  /** Could a message hold this many bytes of records of one set (empty message)? */
  fitsAlone(bytes: number): boolean {
    return MESSAGE_HEADER_LENGTH + SET_HEADER_LENGTH + bytes <= this.maxLength;
  }

  // Opens a set of `id` unless the current set is one; checks the length.
  private room(id: number, bytes: number): boolean {
    const newSet = this.setId !== id;
    if (this.off + (newSet ? SET_HEADER_LENGTH : 0) + bytes > this.maxLength) return false;
    if (newSet) {
      this.closeSet();
      this.setId = id;
      this.setStart = this.off;
      this.buf.writeUInt16BE(id, this.off);
      this.off += SET_HEADER_LENGTH;
    }
    return true;
  }

  private closeSet(): void {
    if (this.setId >= 0) this.buf.writeUInt16BE(this.off - this.setStart, this.setStart + 2);
    this.setId = -1;
  }

  /** Finish the message: a copy of its bytes; the writer starts a new one. */
  finish(h: MessageHeaderFields): Buffer {
    this.closeSet();
    const b = this.buf;
    b.writeUInt16BE(IPFIX_VERSION, 0);
    b.writeUInt16BE(this.off, 2);
    b.writeUInt32BE(h.exportTime >>> 0, 4);
    b.writeUInt32BE(h.sequence >>> 0, 8);
    b.writeUInt32BE(h.observationDomainId >>> 0, 12);
    const out = Buffer.from(b.subarray(0, this.off));
    this.off = MESSAGE_HEADER_LENGTH;
    this.records = 0;
    return out;
  }
}
