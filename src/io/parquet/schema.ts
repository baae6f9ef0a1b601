import type { FileMetaData, SchemaElement } from 'hyparquet';

/** A top-level column of a Parquet file: its name and its schema elements (the column's whole subtree, in order). */
export interface ParquetColumn {
  name: string;
  schema: SchemaElement[];
}

/** The file's top-level columns, each with the schema elements that describe it (nested types included). */
export function parquetColumns(metadata: FileMetaData): ParquetColumn[] {
  const schema = metadata.schema;
  const out: ParquetColumn[] = [];
  let i = 1; // schema[0] is the root
  while (i < schema.length) {
    const end = subtreeEnd(schema, i);
    out.push({ name: schema[i]!.name, schema: schema.slice(i, end) });
    i = end;
  }
  return out;
}

/** One past the last element of the subtree rooted at schema[i]. */
function subtreeEnd(schema: SchemaElement[], i: number): number {
  let next = i + 1;
  for (let c = 0; c < (schema[i]!.num_children ?? 0); c++) next = subtreeEnd(schema, next);
  return next;
}
