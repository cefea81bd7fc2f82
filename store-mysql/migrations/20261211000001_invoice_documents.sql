-- An issued invoice's documents (PDF, HTML), rendered once at issue and kept, so the
-- document a tenant was sent is the one served forever after, whatever branding changes.
-- Written once per (invoice, format); `archived_at` records when it was copied to the
-- invoice archive (Azure Blob storage), NULL until then.
CREATE TABLE invoice_documents (
  invoice_id BIGINT NOT NULL,
  format VARCHAR(8) NOT NULL,
  content LONGBLOB NOT NULL,
  archived_at VARCHAR(32) NULL,
  PRIMARY KEY (invoice_id, format),
  CONSTRAINT fk_document_invoice FOREIGN KEY (invoice_id) REFERENCES invoices (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
