/** What a tab of a feature group's page is given: the group's name and version (the page's URL says which). */
export interface GroupTabProps {
  readonly name: string;
  readonly version: number;
}
