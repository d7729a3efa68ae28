/** What a tab of a feature view's page is given: the view's name and version (the page's URL says which). */
export interface ViewTabProps {
  readonly name: string;
  readonly version: number;
}
