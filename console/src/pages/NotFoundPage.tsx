import { Link } from 'wouter';

export function NotFoundPage() {
  return (
    <section>
      <h1>Nothing here</h1>
      <p>
        This address names no page of the console. <Link href="/">Go home</Link>.
      </p>
    </section>
  );
}
