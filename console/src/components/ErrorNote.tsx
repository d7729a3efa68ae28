/** An error from the API, shown where it happened, with the API's message. */
export function ErrorNote({ message, title = 'The API answered with an error' }: { message: string; title?: string }) {
  return (
    <div className="error" role="alert">
      <strong>{title}:</strong> {message}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" aria-live="polite">
      Loading {what}…
    </p>
  );
}
