import { builder } from '../builder.ts';

export const DownloadFormatEnum = builder.enumType('DownloadFormat', {
  description: 'Format of a downloaded table.',
  values: {
    PARQUET: { description: 'Apache Parquet (zstd).' },
    CSV: { description: 'Comma-separated values with a header row.' },
  } as const,
});
