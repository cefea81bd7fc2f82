-- The manual's price list form has a display name and a description.

ALTER TABLE price_lists ADD COLUMN name TEXT NULL;
ALTER TABLE price_lists ADD COLUMN description TEXT NULL;
