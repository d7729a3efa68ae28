import { useViewer } from '../viewer.tsx';

export function HomePage() {
  const viewer = useViewer();
  return (
    <section>
      <h1>{viewer.projectName}</h1>
    </section>
  );
}
