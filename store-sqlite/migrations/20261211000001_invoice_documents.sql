-- An issued invoice's documents (PDF, HTML), rendered once at issue and kept, so the
-- document a tenant was sent is the one served forever after, whatever branding changes.
-- Written once per (invoice, format); `archived_at` records when it was copied to the
-- invoice archive (Azure Blob storage), NULL until then.
CREATE TABLE invoice_documents (
  invoice_id INTEGER NOT NULL REFERENCES invoices (id),
  format TEXT NOT NULL,
  content BLOB NOT NULL,
  archived_at TEXT NULL,
  PRIMARY KEY (invoice_id, format)
);
