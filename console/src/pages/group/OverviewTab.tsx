import type { GroupTabProps } from './tab.ts';

export function OverviewTab({ name, version }: GroupTabProps) {
  return (
    <p>
      Overview of {name} version {version}.
    </p>
  );
}
