/** Entity references to other subgraphs' types: only the key is known here. */
export interface UserRef {
  id: string;
}

export interface CourseRef {
  id: string;
}
