-- Reserved: version 5 belongs to another branch being merged. This
-- placeholder keeps the versions without gaps until it lands; drop this
-- file when that branch's 0005 is merged.
SELECT 1;
