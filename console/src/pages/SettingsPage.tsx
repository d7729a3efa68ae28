import { Link } from 'wouter';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { useViewer } from '../viewer.tsx';
import { KeysSection } from './settings/KeysSection.tsx';
import { ProjectSection } from './settings/ProjectSection.tsx';
import { TagsSection } from './settings/TagsSection.tsx';
import './settings/settings.css';

/** The sections of `/settings/<section>`; `adminOnly` ones are listed only for an ADMIN key. */
export const SECTIONS = [
  { id: 'project', label: 'Project', adminOnly: false },
  { id: 'keys', label: 'API keys', adminOnly: true },
  { id: 'tags', label: 'Tag schemas', adminOnly: false },
] as const;

/** `/settings/<section>` (default `project`): the project and this key, API keys (ADMIN) and tag schemas. */
export function SettingsPage({ section }: { section: string | undefined }) {
  const { canAdmin } = useViewer();
  const current = SECTIONS.find((s) => s.id === (section ?? 'project'));
  const shown = SECTIONS.filter((s) => canAdmin || !s.adminOnly);
  return (
    <section className="settings-page">
      <h1>Settings</h1>
      <nav className="tabs" aria-label="Settings">
        {shown.map((s) => (
          <Link key={s.id} href={`/settings/${s.id}`} aria-current={s.id === current?.id ? 'page' : undefined}>
            {s.label}
          </Link>
        ))}
      </nav>
      <div className="tab-panel">
        {current === undefined && <ErrorNote title="Not found" message={`there is no settings section "${section}"`} />}
        {current?.id === 'project' && <ProjectSection />}
        {current?.id === 'keys' && <KeysSection />}
        {current?.id === 'tags' && <TagsSection />}
      </div>
    </section>
  );
}
