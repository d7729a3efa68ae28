import { Component, type ReactNode } from 'react';
import { ErrorNote } from './ErrorNote.tsx';

/**
 * Catches a page's rendering failure so the shell (navigation, sign-out) stays usable and the
 * failure is shown where the page would be, instead of a blank window. Keyed by the location, so
 * navigating elsewhere renders afresh.
 */
export class PageBoundary extends Component<{ children: ReactNode }, { failure: string | null }> {
  override state = { failure: null as string | null };

  static getDerivedStateFromError(error: unknown): { failure: string } {
    return { failure: error instanceof Error ? error.message : String(error) };
  }

  override render(): ReactNode {
    if (this.state.failure !== null) return <ErrorNote title="This page failed to show" message={this.state.failure} />;
    return this.props.children;
  }
}
