/**
 * A small RFC 4180 CSV reader for data manifests: comma-separated fields, fields in double quotes may hold
 * commas, line breaks and doubled quotes (""), records end with LF or CRLF. A leading byte-order mark is dropped.
 * The engine reads manifests with it and the New Model Spec wizard detects them. Written here rather than taken
 * from a package because manifests need nothing more and the engine bundle stays free of another dependency.
 */

/** One record with the number of the file line it starts on (1-based), for messages. */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/**
 * The records of `text`. Blank lines are left out (a trailing line break makes no empty record). Throws for a
 * quote that is never closed or text after a closing quote, naming the line.
 */
export function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        const quoteLine = line;
        i++;
        for (;;) {
          if (i >= text.length)
            throw new Error(
              `${file}, line ${quoteLine}: a quoted field is never closed: add the closing " (a " inside a quoted field is written "").`,
            );
          const ch = text[i];
          if (ch === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\n') line++;
          field += ch;
          i++;
        }
        if (i < text.length && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n'))
          throw new Error(
            `${file}, line ${line}: text after the closing quote of a field: quote the whole field, writing a " inside it as "".`,
          );
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n'))
          field += text[i++];
      }
      fields.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') {
      i++;
      line++;
    }
    if (!(fields.length === 1 && fields[0] === '')) records.push({ fields, line: start });
  }
  return records;
}
