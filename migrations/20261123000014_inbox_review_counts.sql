-- The inbox shows each conversation's count of open review cases: look them
-- up by conversation instead of filtering every open case of the owner.
CREATE INDEX review_items_open_conversation ON review_items (conversation_id) WHERE state = 'open';
