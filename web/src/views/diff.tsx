/** A unified diff, folded, its added and removed lines marked. */
export function Diff({ text }: { readonly text: string }) {
  return (
    <details class="diff">
      <summary>diff</summary>
      <pre>
        {text.split('\n').map((line, i) => (
          <span key={i} class={line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : undefined}>
            {line}
            {'\n'}
          </span>
        ))}
      </pre>
    </details>
  );
}
