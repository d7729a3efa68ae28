import type { GroupTabProps } from './tab.ts';

export function StatisticsTab({ name, version }: GroupTabProps) {
  return (
    <p>
      Statistics of {name} version {version}.
    </p>
  );
}
