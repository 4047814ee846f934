/**
 * Stable codes for what can be wrong with a DNS message (reported through
 * `SniffContext.parseError('dns', code)`). Codes starting with `truncated_` mean the bytes ran out
 * (a short capture or a cut message); the others mean a value is impossible.
 */
export type DnsErrorCode =
  /** Fewer than the 12 header bytes (RFC 1035 §4.1.1). */
  | 'truncated_header'
  /** The message ends inside a question. */
  | 'truncated_question'
  /** The message ends inside a resource record's fixed part, or RDLENGTH runs past the end. */
  | 'truncated_rr'
  /** A header count promises more entries than the message holds (entries present are kept). */
  | 'truncated_section'
  /** Label type 0b01 or 0b10 (RFC 1035 §4.1.4 and RFC 6891 §5 leave them unused). */
  | 'bad_label_type'
  /** A compression pointer that does not point strictly backwards (a loop, or forward). */
  | 'bad_pointer'
  /** More compression pointers in one name than any real message needs. */
  | 'too_many_pointers'
  /** A name longer than 255 octets on the wire (RFC 1035 §2.3.4). */
  | 'name_too_long'
  /** RDATA shorter than its fields, or holding an impossible value. */
  | 'bad_rdata'
  /** RDATA fields end before RDLENGTH does. */
  | 'bad_rdlength'
  /** An EDNS option with an impossible length or value (RFC 6891 §6.1.2 and the option's RFC). */
  | 'bad_edns_option'
  /** An SVCB/HTTPS SvcParam with an impossible value or out of order (RFC 9460 §2.2). */
  | 'bad_svc_param';
