-- The manual's price list form has a display name and a description.

ALTER TABLE price_lists ADD COLUMN name VARCHAR(200) NULL, ADD COLUMN description TEXT NULL;
