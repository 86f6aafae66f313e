INSERT INTO spooled_bytes (event, field, value) VALUES (:event, :field, :value)
