// What the command line accepts, shared by the full parser (args.ts, on
// commander) and the quick one for plain listings (quickargs.ts), which must
// not load commander.

/** -o values of conntrack-tools plus json. */
export const OUTPUT_FORMATS = ['extended', 'xml', 'timestamp', 'id', 'ktimestamp', 'labels', 'userspace', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The tables -L lists (conntrack-tools' names). */
export const LIST_TABLES = ['conntrack', 'expect', 'dying', 'unconfirmed'] as const;

/** --labels-file default: conntrack-tools' connlabel.conf. */
export const DEFAULT_LABELS_FILE = '/etc/xtables/connlabel.conf';
