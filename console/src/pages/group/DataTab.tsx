import type { GroupTabProps } from './tab.ts';

export function DataTab({ name, version }: GroupTabProps) {
  return (
    <p>
      Data of {name} version {version}.
    </p>
  );
}
