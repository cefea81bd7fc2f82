-- An issued invoice's documents (PDF, HTML), rendered once at issue and kept, so the
-- document a tenant was sent is the one served forever after, whatever branding changes.
-- Written once per (invoice, format): the store inserts and never updates.
CREATE TABLE invoice_documents (
  invoice_id INTEGER NOT NULL REFERENCES invoices (id),
  format TEXT NOT NULL,
  content BLOB NOT NULL,
  PRIMARY KEY (invoice_id, format)
);
