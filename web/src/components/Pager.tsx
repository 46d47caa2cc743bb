export function Pager(props: {
  offset: number;
  limit: number;
  count: number;
  total?: number;
  onChange: (offset: number) => void;
}) {
  const { offset, limit, count, total } = props;
  const more = total !== undefined ? offset + count < total : count === limit;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={offset === 0} onClick={() => props.onChange(Math.max(0, offset - limit))}>
        ← Previous
      </button>
      <span>
        {count ? `${offset + 1}–${offset + count}` : "0"}
        {total !== undefined ? ` of ${total}` : ""}
      </span>
      <button type="button" disabled={!more} onClick={() => props.onChange(offset + limit)}>
        Next →
      </button>
    </nav>
  );
}

export const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : "—");
