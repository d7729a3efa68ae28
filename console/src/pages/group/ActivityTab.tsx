import type { GroupTabProps } from './tab.ts';

export function ActivityTab({ name, version }: GroupTabProps) {
  return (
    <p>
      Activity of {name} version {version}.
    </p>
  );
}
